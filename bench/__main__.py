"""`python -m bench` (or `make bench`): every benchmark of eiso, one after another."""

from bench import graphql_bench, graphql_list_bench, http_bench, import_agencies

if __name__ == "__main__":
    import_agencies.main()
    graphql_bench.main()
    graphql_list_bench.main([])
    http_bench.main([])
