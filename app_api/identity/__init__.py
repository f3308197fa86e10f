"""Who someone is: personal and enterprise numbers, their validation, encryption and masking."""
