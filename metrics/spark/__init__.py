"""Spark for the national rebuilds (`python -m metrics refresh --engine spark`): the
rollups, city counts and period values built on Apache Spark from one pinned store version
and written back through deltalake as the DuckDB path writes them. Optional: pyspark and
sqlglot come from requirements-spark.txt, so only the modules that need them import them,
and only when called. docs/decisions/0017-spark-refresh.md says why it reads Delta's file
list rather than using delta-spark, and why the metric SQL is translated by sqlglot.
"""
