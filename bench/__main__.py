"""`make bench`: every benchmark script of this folder."""

from bench import graphql_bench

graphql_bench.main()
