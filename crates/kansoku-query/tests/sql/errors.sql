# Useful errors.
ingest app
{"_timestamp": @+1, "level": "info", "kubernetes_pod_name": "p"}

error
SELECT levle FROM app
----
unknown field 'levle'; did you mean 'level'?

error
SELECT * FROM nope
----
stream 'nope' not found

error
SELECT * FROM app WHERE
----
SQL syntax error

error
DROP TABLE app
----
only read-only SELECT queries are allowed

error
SELECT * FROM app; SELECT * FROM app
----
exactly one SQL statement

error @+10 @+5
SELECT * FROM app
----
must be before end_time

error
SELECT * FROM information_schema.tables
----
not found

error
SELECT * FROM default.app
----
not found

error
SELECT * FROM app WHERE fuzzy_match_all('x', 1)
----
not supported
