"""Entry point for ``spark-submit``: ``build-parts --engine spark`` with the submitted configuration.

    spark-submit --master yarn --deploy-mode client … deploy/spark_job.py --input hdfs:///…/base --output hdfs:///…/parts

Arguments are those of ``python -m insight build-parts`` (``--engine`` and ``--master`` come from here and
from spark-submit). The driver runs ``insight`` (installed from requirements.txt and requirements-spark.txt where the driver runs);
the executors run Spark SQL only — no Python code of ours reaches them.
"""

import sys

from insight.cli import main

if __name__ == "__main__":
    if any(a == "--master" or a.startswith("--master=") or a.startswith("--engine") for a in sys.argv[1:]):
        print("错误: --master 与 --engine 由 spark-submit 决定，请不要再给", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(["build-parts", "--engine", "spark", *sys.argv[1:]]))
