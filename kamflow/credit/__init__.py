"""Credit control (clauses 2.5, 2.6, 2.8, 2.15): solvency checks, credit limits and the order credit check.

`facts` holds the pure calculations (ratios, Altman scores, exposure, limits) and `tables` the records;
`standing` reads a customer's exposure and limits; `solvency`, `limits` and `orders` are the three
processes' domain code, sharing `kamflow.decisions`; `reports` writes their markdown, `views` what the CLI shows,
and `client` is what the CLI does with them.
"""
