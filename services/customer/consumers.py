"""The events the customer service consumes: none. It is where customer facts come from; the
other services follow it through the CUSTOMER stream."""
