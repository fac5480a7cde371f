"""The REST API's operations, one module per resource, each beside the JSON shape of its resource."""
