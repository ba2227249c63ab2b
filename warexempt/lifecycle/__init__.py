"""The procedure as a lifecycle: which next steps the law allows from a case's state, and where each leads."""
