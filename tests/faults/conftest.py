"""The fault-injection suite runs with the rest (`make test`), at the reduced size CI affords
(about two minutes on a shared 2-core machine); WEFTWORK_FAULT_SIZE=full (`make faults`) runs
>= 10,000 money events, and WEFTWORK_FAULT_SEED replays a run. See docs/faults.md."""
