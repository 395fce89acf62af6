"""Grid boundaries and the grid map (网格地图): the GeoJSON a community uploads and its
checks (`boundaries`), its versions in the store (`storage`), what a map draws (`shapes`)
and the demo's schematic boundaries (`demo`). Rights are metrics.access.geo's; decision:
docs/decisions/0016-grid-map.md.
"""

from metrics.geo.boundaries import Checked, Problem, check
from metrics.geo.shapes import MapShapes, Shape
from metrics.geo.storage import Version

__all__ = ["Checked", "MapShapes", "Problem", "Shape", "Version", "check"]
