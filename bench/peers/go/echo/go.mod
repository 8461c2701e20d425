module ringo-peers/echo

go 1.19
