"""The rules of the product, as plain functions that take the acting user. No request objects."""
