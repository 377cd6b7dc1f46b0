"""Protobuf <-> revenue domain, in one place: requests and consumed events in, responses and
events out."""
