"""Internal documents and their approval chains (job descriptions, customer contracts, acts, agreements)."""
