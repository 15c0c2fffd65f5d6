"""/metrics in the Prometheus text format, counted from the store (:mod:`evy.metrics.collector`), and the
same figures written atomically to a node_exporter textfile (:mod:`evy.metrics.textfile`)."""
