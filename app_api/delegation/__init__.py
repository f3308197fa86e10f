"""亲情代办: a resident lets a relative act for them, within scopes and until a date."""
