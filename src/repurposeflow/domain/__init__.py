"""Pure rules: entities, quota and tier rules, platform formats, errors and ports.

Nothing here imports anything outside the standard library, attrs and twitter-text.
"""
