"""The benchmark behind `make bench`: understanding, speed, load, footprint, store."""
