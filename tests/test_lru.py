from concurrent.futures import ThreadPoolExecutor

from reviewqa.lru import LRUCache


def test_least_recently_used_entry_is_evicted():
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c"), len(cache)) == (1, 3, 2)


def test_zero_capacity_keeps_nothing():
    cache: LRUCache[str, int] = LRUCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None
    assert len(cache) == 0


def test_concurrent_use_stays_within_capacity():
    cache: LRUCache[int, int] = LRUCache(50)

    def work(n: int) -> None:
        for i in range(200):
            cache.put((n * 1000 + i) % 120, i)
            cache.get(i % 120)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert len(cache) == 50
