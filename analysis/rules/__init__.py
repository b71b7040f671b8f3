"""The relationship rules of DESIGN.md, one module each, pure functions over ``ContactData``."""
