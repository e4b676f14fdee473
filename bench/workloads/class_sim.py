"""bench workload: class-heavy agent simulation: many small objects with methods, created and dropped."""
import math
import random

import _protocol  # ready / SIGUSR1 / elapsed, shared by the workloads

ITERATIONS = 1800


class Vec(object):
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __add__(self, o):
        return Vec(self.x + o.x, self.y + o.y)

    def __sub__(self, o):
        return Vec(self.x - o.x, self.y - o.y)

    def scale(self, k):
        return Vec(self.x * k, self.y * k)

    def norm(self):
        return math.sqrt(self.x * self.x + self.y * self.y)


class Agent(object):
    def __init__(self, ident, pos, vel, energy):
        self.ident = ident
        self.pos = pos
        self.vel = vel
        self.energy = energy
        self.memory = []

    def step(self, world):
        target = world.food[self.ident % len(world.food)]
        d = target - self.pos
        dist = d.norm() or 1.0
        self.vel = (self.vel.scale(0.9) + d.scale(0.1 / dist)).scale(1.0)
        self.pos = self.pos + self.vel
        self.energy -= 0.01 + self.vel.norm() * 0.001
        if dist < 1.0:
            self.energy += 1.0
            self.memory.append(Event("ate", self.ident, (target.x, target.y)))
            if len(self.memory) > 8:
                self.memory.pop(0)

    def alive(self):
        return self.energy > 0


class Event(object):
    def __init__(self, kind, who, where):
        self.kind = kind
        self.who = who
        self.where = where


class World(object):
    def __init__(self, rng, n):
        self.rng = rng
        self.agents = [self.spawn(i) for i in range(n)]
        self.food = [Vec(rng.uniform(-50, 50), rng.uniform(-50, 50)) for _ in range(37)]
        self.next_id = n

    def spawn(self, ident):
        r = self.rng
        return Agent(ident, Vec(r.uniform(-50, 50), r.uniform(-50, 50)), Vec(0.0, 0.0), r.uniform(0.5, 3.0))

    def tick(self):
        for a in self.agents:
            a.step(self)
        survivors = [a for a in self.agents if a.alive()]
        while len(survivors) < len(self.agents):
            survivors.append(self.spawn(self.next_id))
            self.next_id += 1
        self.agents = survivors


def setup():
    return None


def run(state, scale):
    world = World(random.Random(2024), 500)
    for _ in range(max(1, int(round(ITERATIONS * scale)))):
        world.tick()
    return world.next_id


if __name__ == "__main__":
    _protocol.main(setup, run)
