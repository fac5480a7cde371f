def send_child(db): return []
def pull_child(db): return []
