"""The node's HTTP surface: the sharing interface, files, admin API, health, OpenAPI."""
