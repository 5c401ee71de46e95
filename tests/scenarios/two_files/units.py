def to_metres(feet):
    return feet * 0.3048 * "x"
