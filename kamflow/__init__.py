"""kamflow: approvals and credit control for a key-account sales organisation."""
