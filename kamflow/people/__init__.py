"""People and access: the org chart kept as data (import, add, edit, deactivate), passwords, personal API
tokens and sign-in. The App's identity function (kamflow.app.identity) stands on this."""
