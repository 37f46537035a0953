"""What serve's fork server imports before it forks a run's process (`kamflow.app.serve._fork_flow_processes`):
Prefect's flow engine and every kamflow flow with its domain, about 1.5 s a process would spend importing them.
Then what they made is moved out of the cycle collector's reach (`gc.freeze`), as Python's documentation advises
before a fork without exec: a run's process does not walk those objects in its collections, nor copy the memory
pages they live on by touching them."""

import gc

import prefect.flow_engine  # noqa: F401

import flows.processes  # noqa: F401

gc.freeze()
