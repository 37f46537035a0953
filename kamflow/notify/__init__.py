"""Notifications: mail that tells people a task waits for them, reminds them, brings them an escalated task, and
tells a requester what was decided.

Each notice is a row of the outbox (`tables.OutboxMessage`), written in the same transaction as the change it
announces (`notices`): a change that rolls back sends nothing, and one that commits is never lost. A deliverer
(`delivery`) sends what waits, through SMTP (`KAMFLOW_SMTP_URL`) or, by default, as .eml files under
data_dir/mail/, retrying a failed message later with a growing pause."""
