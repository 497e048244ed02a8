"""The shared core of the components: settings, client settings, the cluster and the per-process runtime."""
