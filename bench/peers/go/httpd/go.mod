module ringo-peers/httpd

go 1.19
