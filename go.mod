module github.com/peregrine-sec/peregrine

go 1.26.8

require (
	github.com/buger/jsonparser v1.1.1 // indirect
	github.com/valyala/fastjson v1.6.10 // indirect
)
