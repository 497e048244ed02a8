"""What operators watch: Prometheus metrics and their server, the cluster's reachability, projection lag."""
