"""Train word2vec on Spark: the spark-submit entry point.

    spark-submit --master spark://127.0.0.1:7077 jobs/train_word2vec.py \
        --input data/wiki-demo.txt.gz --output /tmp/w2v --epochs 5
    python jobs/train_word2vec.py --input data/wiki-demo.txt.gz --output demo-output   # embedded local[*]

Run with --help for every flag, its default and its range.
"""
import sys

from sparkw2v.job import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
