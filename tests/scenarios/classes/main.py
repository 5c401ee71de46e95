import dataclasses
import enum
from typing import NamedTuple

import hot_restart


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int

    def norm(self):
        return abs(self.x) + abs(self.y) + "1"


@dataclasses.dataclass(slots=True)
class Box:
    w: int

    def area(self):
        return self.w * self.h


class Color(enum.Enum):
    RED = 1
    BLUE = 2

    def label(self):
        return self.name.lower() + self.value


class Pair(NamedTuple):
    a: int
    b: int

    def total(self):
        return self.a + self.c


hot_restart.wrap_module()
print("norm", Point(3, -4).norm())
print("area", Box(5).area())
print("label", Color.RED.label())
print("total", Pair(1, 2).total())
