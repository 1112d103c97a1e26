use scopeflow::prelude::*;

model! {
    pub struct Counter in "state" {
        steps: [] (dtype = i64, trainable = false),
    }
    pub struct Reader in "state" (reuse = true) {
        steps: [] (dtype = i32),
    }
}

fn main() {}
