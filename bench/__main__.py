"""`python -m bench` (or `make bench`): every benchmark of eiso."""

from bench import import_agencies

if __name__ == "__main__":
    import_agencies.main()
