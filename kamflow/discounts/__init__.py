"""Discount authorization (clauses 2.9, 2.18): a KAM asks for a discount on a price-list column; the `discount`
rules approve it, reject it or send it to the department head.

`tables` holds the records (price columns, norms, promotions, requests), `service` the request, its facts and
what is recorded, `views` what people see of a request.
"""

PROCESS = "discount-authorization"
RULESET = "discount"
