"""Tasks the flow builder makes for the user: operators (``a + b``, ``t[key]``) and collections."""
