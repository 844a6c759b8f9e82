"""Report writers: markdown, JSON and PNG charts of quality and evaluation results."""
