"""What the smoke tests of every experiment share."""


def numbers(tree):
    """Every int and float in a JSON tree (bools excluded)."""
    if isinstance(tree, dict):
        return [x for value in tree.values() for x in numbers(value)]
    if isinstance(tree, list):
        return [x for value in tree for x in numbers(value)]
    return [tree] if isinstance(tree, (int, float)) and not isinstance(tree, bool) else []


def once_per_script(run, tmp_path_factory):
    """``get(name)`` -> (folder, metrics.json bytes) of one uninterrupted run, made once."""
    cache = {}

    def get(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(name)
            cache[name] = (out, run(name, out))
        return cache[name]

    return get
