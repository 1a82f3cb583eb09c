"""The feature transformers' old address: bundles exported before the core was split into
subpackages name their classes ``thrifty_tui.core.features.<Class>`` (skops and joblib load a
class by the module it was defined in), so those bundles still load."""

from thrifty_tui.core.learn import features as _features

globals().update({name: obj for name, obj in vars(_features).items()
                  if isinstance(obj, type) and obj.__module__ == _features.__name__})
