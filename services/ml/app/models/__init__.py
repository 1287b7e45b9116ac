"""The contract's schemas as pydantic models (``generated.py``, from contracts/ml.yaml)."""
