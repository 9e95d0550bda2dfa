print("t2usvr: being written")
