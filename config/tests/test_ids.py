"""Ids (config.ids): the documented shape and time order, and unique across threads and forks.

The production server imports the app once and forks its workers, so a module-level random
part would be the same in every worker; these tests fork as gunicorn does, with the module
already imported, and compare what parent and children make within one second."""
import os
import threading
import time

from config.ids import new_object_id


def _ids_in_child(count, at):
    """Fork; the child makes `count` ids stamped with the second `at` and writes them to a
    pipe; [ids] as read here."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read_end)
            payload = "\n".join(new_object_id(at=at) for _ in range(count)).encode()
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    return data.decode().split("\n")


def test_shape_is_24_lowercase_hex_with_the_time_first():
    before = int(time.time())
    value = new_object_id()
    after = int(time.time())
    assert len(value) == 24 and value == value.lower() and int(value, 16) >= 0
    assert before <= int(value[:8], 16) <= after


def test_ids_of_one_process_share_their_random_part_and_count_up():
    first, second = new_object_id(), new_object_id()
    assert first[8:18] == second[8:18]
    assert (int(second[18:], 16) - int(first[18:], 16)) % (1 << 24) == 1


def test_ids_sort_by_creation_second():
    earlier = new_object_id(at=1_700_000_000)
    later = new_object_id(at=1_700_000_001)
    assert earlier < later


def test_forked_children_make_ids_of_their_own_within_one_second():
    # The module is imported and used before the fork, as in gunicorn's master; every id is
    # stamped with the same second, so only the random part and the counter can tell them apart.
    second = int(time.time())
    parent = [new_object_id(at=second) for _ in range(2_000)]
    children = [_ids_in_child(2_000, second) for _ in range(4)]
    parent += [new_object_id(at=second) for _ in range(2_000)]
    everything = parent + [value for child in children for value in child]
    assert len(everything) == 6 * 2_000
    assert len(set(everything)) == len(everything)
    random_parts = {parent[0][8:18]} | {child[0][8:18] for child in children}
    assert len(random_parts) == 5, "each child draws its own 5 random bytes"


def test_threads_never_share_an_id():
    made = []

    def make():
        made.extend(new_object_id() for _ in range(5_000))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == len(set(made)) == 40_000
