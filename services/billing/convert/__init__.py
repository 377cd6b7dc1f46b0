"""Protobuf <-> billing domain, in one place: requests in, responses and events out."""
