module v2etcd

go 1.26
