"""independent workload: NetworkX (python3-networkx) graph algorithms on a seeded random graph
made by NetworkX's own generator (gnm_random_graph, 20000 nodes, 50000 edges): connected
components, k-core and single-source shortest paths. Mirrors pyperformance's
`networkx_connected_components`, `networkx_k_core` and `networkx_shortest_path`."""
import _common

REQUIRES = ["networkx"]
ITERATIONS = 1


def setup():
    import networkx as nx
    return nx, nx.gnm_random_graph(20000, 50000, seed=42)


def run(state, scale):
    nx, g = state
    ops = [lambda: sum(1 for _ in nx.connected_components(g)),
           lambda: nx.k_core(g, 3).number_of_nodes(),
           lambda: sum(nx.single_source_shortest_path_length(g, 0).values()),
           lambda: sum(nx.single_source_shortest_path_length(g, 777).values()),
           lambda: sum(nx.single_source_shortest_path_length(g, 4242).values()),
           lambda: len(nx.single_source_shortest_path(g, 1))]
    total = 0
    for i in range(max(1, int(round(ITERATIONS * len(ops) * scale)))):  # a small scale is fewer operations
        total += ops[i % len(ops)]()
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
