"""Portico's ML service: sentiment analysis (VADER) behind contracts/ml.yaml."""
