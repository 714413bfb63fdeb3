"""`python -m bench` (or `make bench`): every benchmark of eiso, one after another."""

from bench import (
    app_nodes_bench,
    counting_bench,
    dashboard_bench,
    desk_bench,
    dossier_bench,
    event_fanout,
    figures_bench,
    graphql_bench,
    graphql_list_bench,
    http_bench,
    import_agencies,
    introspection_bench,
    model_qms_bench,
    module_switch_bench,
    node_bench,
    scope_criteria_bench,
    slips_bench,
    token_bench,
    trusted_documents_bench,
    web_bench,
)

if __name__ == "__main__":
    import_agencies.main()
    graphql_bench.main()
    graphql_list_bench.main([])
    introspection_bench.main([])
    trusted_documents_bench.main([])
    http_bench.main([])
    event_fanout.main()
    figures_bench.main([])
    dossier_bench.main()
    node_bench.main([])
    scope_criteria_bench.main([])
    web_bench.main([])
    module_switch_bench.main([])
    counting_bench.main([])
    slips_bench.main([])
    desk_bench.main([])
    dashboard_bench.main([])
    token_bench.main([])
    app_nodes_bench.main([])
    model_qms_bench.main([])
