module ringo-peers/micro

go 1.19
