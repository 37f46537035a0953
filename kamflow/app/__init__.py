"""The entry points: the `kamflow` CLI, run control (start a run, wait for it, resume it), `serve` and the demo.

Arrows run one way: App → Flows → Domain → Rules. Nothing outside this package imports it."""
