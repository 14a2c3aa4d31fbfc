"""The chart's values: section models, and the values of one chart built from them."""
